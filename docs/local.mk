# docs: installed under $(docdir).
dist_doc_DATA += docs/design.md docs/testing.md
man1_MANS = docs/fedsilo.1
EXTRA_DIST += docs/fedsilo.1
dist_doc_DATA += docs/protocol.md docs/threat-model.md docs/hpc.md
dist_doc_DATA += docs/user-guide.md docs/config.md docs/faq.md
dist_doc_DATA += docs/optimizers.md
dist_doc_DATA += docs/keys.md docs/formats.md docs/privacy.md docs/vertical.md docs/analytics.md \
                 docs/tables.md
EXTRA_DIST += scripts/sklearn-csv.py examples/README.md examples/breast-cancer/run.sh \
              examples/diabetes/run.sh examples/fashion-mnist/run.sh
