"""`kdw reproduce data-free-generators --quick`: trains DAFL and PRE-DFKD on digits and writes its section beside
others'."""

from workbench.cli import main
from workbench.reproduce.data_free_generators import ARMS, HEADING


def test_quick_reproduce_writes_its_section_and_keeps_the_others(tmp_path, capsys):
    results = tmp_path / "results.md"
    results.write_text("# Results\n\n## Another section\n\nkept\n")
    assert (
        main(
            [
                "reproduce",
                "data-free-generators",
                "--quick",
                "--runs-dir",
                str(tmp_path / "runs"),
                "--output",
                str(results),
            ]
        )
        == 0
    )
    text = results.read_text()
    assert "## Another section\n\nkept" in text and text.count(HEADING) == 1
    section = text[text.index(HEADING) :]
    for label in ARMS:
        assert f"| {label} |" in section
    assert "mean over training: PRE-DFKD − DAFL" in section and "one seed is not evidence" in section.lower()
    assert "Machine:" in section and "kdw reproduce data-free-generators --quick" in capsys.readouterr().out
