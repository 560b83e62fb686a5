import pytest

from rhi_nlp.disclosure import DisclosureRule, audit_count_text, disclose


@pytest.mark.parametrize("point, lo, hi, est, low, high, suppressed", [
    (118.3, 96.0, 147.0, "120", "95", "150", False),     # round to 5, limits outward
    (8.2, 3.0, 15.0, "10", "fewer than 5", "15", False),  # lower limit below 5
    (3.1, 1.0, 9.0, "fewer than 5", "fewer than 5", "10", True),
    (0.0, 0.0, 0.0, "0", "0", "0", False),                # a true zero
    (1234.0, 1190.0, 1281.0, "1,230", "1,190", "1,290", False),  # base 10 above 1,000
])
def test_disclosure_rules(point, lo, hi, est, low, high, suppressed):
    d = disclose(point, lo, hi, 5000)
    assert (d.text_estimate, d.text_low, d.text_high, d.suppressed) == (est, low, high, suppressed)


def test_disclosure_share_from_unrounded_and_threshold_configurable():
    assert disclose(118.3, 96, 147, 807).share == round(100 * 118.3 / 807, 1)
    assert disclose(118.3, 96, 147, 807).text_high == "150"
    assert disclose(8.0, 6, 12, 807, DisclosureRule(threshold=10)).suppressed
    assert audit_count_text(3) == "fewer than 5" and audit_count_text(0) == "0" and audit_count_text(12) == "12"
