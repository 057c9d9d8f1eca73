"""Column headers that sort a list: ``{% sort_header "name" _("Name") %}``."""

from django import template
from django.utils.html import format_html

register = template.Library()

ARROWS = {"ascending": "▲", "descending": "▼"}


def _opposite(order):
    return order[1:] if order.startswith("-") else f"-{order}"


@register.simple_tag(takes_context=True)
def sort_header(context, order, label, css_class=""):
    """A ``<th>`` whose label links to the list sorted by ``order`` (a key of the list's
    ``sort`` filter, e.g. ``name`` or ``-partners``, the order of a first click), keeping
    every other parameter and dropping ``page``. On the column the list is sorted by, the
    link turns the order round (where the list has the opposite one), and the header says
    how it is sorted: ``aria-sort`` and a visible arrow."""
    filterset, request = context["filter"], context["request"]
    sort = filterset.filters["sort"]
    data = getattr(filterset.form, "cleaned_data", {})
    current = data.get("sort") or sort.default
    opposite = _opposite(order)
    target = order
    direction = None
    if current in (order, opposite):
        direction = "descending" if current.startswith("-") else "ascending"
        if _opposite(current) in sort.orders:
            target = _opposite(current)
    query = request.GET.copy()
    query["sort"] = target
    query.pop("page", None)
    classes = format_html(' class="{}"', css_class) if css_class else ""
    if direction is None:
        return format_html(
            '<th scope="col"{}><a href="?{}">{}</a></th>', classes, query.urlencode(), label
        )
    return format_html(
        '<th scope="col"{} aria-sort="{}"><a href="?{}">{} <span aria-hidden="true">{}</span>'
        "</a></th>",
        classes,
        direction,
        query.urlencode(),
        label,
        ARROWS[direction],
    )
