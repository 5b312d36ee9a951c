# docs: installed under $(docdir).
dist_doc_DATA += docs/design.md docs/testing.md
