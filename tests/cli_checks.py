"""Assertions shared by the CLI tests."""
from __future__ import annotations


def assert_one_line_error(result, *fragments: str) -> None:
    """A user-facing failure: exit code 2, one `error: ...` line on stderr naming each fragment, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]
