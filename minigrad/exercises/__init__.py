"""The learner's exercises: rewrite a real minigrad function, judged by the project's own tests.

    python -m minigrad.exercises list | start NAME | check NAME | hint NAME [LEVEL] | solution NAME

The exercises are the entries of `registry.py`; `swap.py` is the pytest plugin that puts the
learner's function in place of the library's while those tests run.
"""
