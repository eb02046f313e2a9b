"""Load MathJax on every page, not only on pages whose body has equations.

The sidebar's chapter titles contain maths (Q(Z), P(Z)), so pages without
equations of their own (search, index, references, the proof index) would show
raw ``\\(...\\)`` there. Sphinx's 'always' asset policy makes sphinx.ext.mathjax
add its script to every page.
"""


def setup(app):
    app.set_html_assets_policy("always")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
