"""The case workflow: one function per event (register closed, reply received, timer, staff
decision), each taking the session and `now`. Decisions that vary by school are evaluated in
`rules/`; everything that reaches a parent or Slack goes through the outbox."""
