"""secretome.io.write_between_markers: the generated sections of the docs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secretome.errors import SecretomeError
from secretome.io import write_between_markers

BEGIN, END = "<!-- x:begin -->", "<!-- x:end -->"
free_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40).filter(
    lambda t: BEGIN not in t and END not in t and "<!--" not in t
)


@given(head=free_text, old=free_text, new=free_text, tail=free_text)
def test_only_the_text_between_the_markers_changes(tmp_path_factory, head, old, new, tail):
    path = tmp_path_factory.mktemp("doc") / "page.md"
    path.write_bytes((head + BEGIN + old + END + tail).encode())
    write_between_markers(path, BEGIN, END, new)
    # byte for byte: line endings outside the section (CRLF, a lone CR) are kept
    assert path.read_bytes().decode() == head + BEGIN + new + END + tail


BAD_PAGES = ["no markers", BEGIN + "one", END + " before " + BEGIN, BEGIN + END + BEGIN + END]


@pytest.mark.parametrize("text", BAD_PAGES)
def test_a_page_without_one_pair_of_markers_is_refused_and_left_alone(tmp_path, text):
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SecretomeError, match=r"page\.md must hold one"):
        write_between_markers(path, BEGIN, END, "new")
    assert path.read_text(encoding="utf-8") == text
