"""Pictures and tables of models and computation graphs.

    from minigrad.viz import draw_graph, render, retain_grads
    g = draw_graph(loss, model=model, expand=["BatchNorm2d"])
    render(g, "graph.svg")                  # needs the Graphviz `dot` program
    model.summary((64, 1, 28, 28))          # layer table (minigrad.viz.summary)

See docs/graphs.md for how to read the drawings.
"""
from minigrad.viz.graph import (  # noqa: F401
    Graph, GraphvizNotFoundError, draw_graph, render, retain_grads)
from minigrad.viz.summary import summary  # noqa: F401
