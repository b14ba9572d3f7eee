"""Query type columns whose values cannot be identical, and why (shown in docs/conformance.md).

The comparison leaves such a column out (every other column of the type is compared as usual)
and records whether its values differed; the conformance tests expect them to differ."""

from __future__ import annotations

_PARSE_FLOAT = (
    "the real API converts every result column whose ClickHouse type "
    "mentions an integer with JavaScript's parseFloat, so this Array(Tuple(String, UInt64)) "
    "column arrives as parseFloat of the array's text - the first value when it reads as a "
    "number (e.g. 4 for prices), else null - and which value comes first is an order ClickHouse "
    "leaves undefined among values of equal count; the emulator keeps the "
    "array of [value, count] the catalogue documents"
)

# type -> (column, why)
EXPLAINED: dict[str, tuple[str, str]] = {
    "custom_events_property_classification": ("sample_values", _PARSE_FLOAT),
    "custom_events_discovery": ("top_values", _PARSE_FLOAT),
}
