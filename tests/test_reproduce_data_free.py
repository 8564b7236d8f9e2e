"""`kdw reproduce data-free --quick`: trains every arm on digits and writes its section beside others'."""

from workbench.cli import main
from workbench.reproduce.data_free import ARMS, HEADING


def test_quick_reproduce_writes_its_section_and_keeps_the_others(tmp_path, capsys):
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## Another section\n\nkept\n")
    assert (
        main(["reproduce", "data-free", "--quick", "--runs-dir", str(tmp_path / "runs"), "--output", str(results)]) == 0
    )
    text = results.read_text()
    assert "## Another section\n\nkept" in text and text.count(HEADING) == 1
    section = text[text.index(HEADING) :]
    for label in ARMS:
        assert f"| {label} |" in section
    assert "| teacher lenet5" in section and "Machine:" in section and "glyph lenet5" in section
    assert "a buffer of its 64 samples" in section  # PRE-DFKD: 1 epoch × 2 iterations × 32 generated
    assert "kdw reproduce data-free --quick" in capsys.readouterr().out
