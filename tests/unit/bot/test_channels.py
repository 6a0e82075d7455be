from bot.channels import clean_metadata, clean_text


def test_clean_text_drops_control_characters_but_keeps_lines():
    assert clean_text("  bon\x00jour\x1b\nà vous\t!  ") == "bonjour\nà vous\t!"


def test_clean_text_normalises_unicode():
    assert clean_text("e\u0301") == "é"


def test_metadata_keeps_only_a_well_formed_partner():
    assert clean_metadata({"partner": "mairie-de-gap", "cookie": "x"}) == {
        "partner": "mairie-de-gap"
    }
    assert clean_metadata({"partner": "Mairie de Gap"}) == {}
    assert clean_metadata(["partner"]) == {}
    assert clean_metadata(None) == {}
