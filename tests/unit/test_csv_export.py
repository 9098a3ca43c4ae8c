"""CSV cells of the compliance export: nothing a spreadsheet would run as a formula."""

import pytest

from service.reports.csv_export import cell


@pytest.mark.parametrize(
    "text",
    [
        "=HYPERLINK(1)",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        # Spreadsheets skip leading whitespace before a formula.
        " =HYPERLINK(1)",
        "   +cmd|' /C calc'!A0",
        "\n=1",
        "\u3000=1",
        # The full-width signs, which spreadsheets with East Asian input read as the ASCII ones.
        "\uff1dHYPERLINK(1)",
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        " \uff1d1",
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_neutralised(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Supervisor", " plain", "a=b", "", "   ", "100", "ca-on"])
def test_plain_cells_are_kept(text):
    assert cell(text) == text
