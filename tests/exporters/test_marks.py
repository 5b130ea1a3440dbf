"""The seam for output-specific rendering: a mark in the model's HTML, rendered by the
module each output registers for its kind, its source kept (escaped) where none is."""

from __future__ import annotations

from exporter.exporters import marks
from exporter.model import Mark, render_marks
from exporter.syntax.sanitise import sanitise

FRAGMENT = (
    'A <x-mark data-kind="echo" data-display="inline">x &lt; y</x-mark> and '
    '<x-mark data-kind="unknown">a&amp;b</x-mark>.'
)


def shout(mark: Mark, **context) -> str:
    return f"[{mark.source.upper()}|{mark.attrs['display']}|{context['where']}]"


def test_each_mark_goes_to_its_outputs_renderer_with_its_source_and_attributes(monkeypatch):
    import sys
    import types

    module = types.ModuleType("fake_echo")
    module.render = shout
    monkeypatch.setitem(sys.modules, "fake_echo", module)
    monkeypatch.setitem(marks.REGISTRY, ("test", "echo"), "fake_echo")
    out = render_marks(FRAGMENT, marks.renderer("test", where="here"))
    assert out == 'A [X < Y|inline|here] and <code class="mark-unknown">a&amp;b</code>.'


def test_marks_survive_the_sanitiser_and_their_source_stays_text():
    assert sanitise(FRAGMENT) == FRAGMENT
    hostile = '<x-mark data-kind="echo" onclick="x()"><script>1</script>y</x-mark>'
    assert sanitise(hostile) == '<x-mark data-kind="echo">y</x-mark>'
