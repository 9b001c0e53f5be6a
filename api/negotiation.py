"""Content negotiation for a JSON-only API."""

from rest_framework.negotiation import DefaultContentNegotiation


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Always answers with the view's first renderer (JSON) instead of 406 for odd ``Accept`` headers."""

    def select_renderer(self, request, renderers, format_suffix=None):
        """Return the view's first renderer and its media type, whatever ``Accept`` asks for."""
        return renderers[0], renderers[0].media_type
