"""Phone numbers: parse what families and MIS exports write into E.164, and tell a mobile
(which can receive a text) from a landline (which cannot)."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_TYPE_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.UAN: "uan",
}
# Only these can receive SMS; a UK number's type is unambiguous, abroad it may be either.
SMS_TYPES = frozenset({"mobile", "fixed_line_or_mobile"})


class PhoneError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    kind: str

    @property
    def can_sms(self) -> bool:
        return self.kind in SMS_TYPES


def parse_phone(raw: str, region: str = "GB") -> Phone:
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone number is empty")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise PhoneError(f"not a phone number: {text!r} ({exc._msg})") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid phone number: {text!r}")
    kind = _TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind)


def normalise_e164(raw: str) -> str | None:
    """E.164 for a sender's number as Twilio gives it, or None if it is not a number."""
    try:
        return parse_phone(raw).e164
    except PhoneError:
        return None
