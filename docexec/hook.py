"""A MkDocs hook (mkdocs.yml: `hooks: [docexec/hook.py]`) that tells the docexec extension
which page it renders, through MkDocs' public page event: two pages with the same text are
then told apart. Without it (Zensical skips hooks) a page is found by its text."""


def on_page_markdown(markdown, page, config, files):
    config.mdx_configs.setdefault("docexec", {})["page"] = page.file.src_uri
    return markdown
