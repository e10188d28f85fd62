"""One module per model family; each registers its specs at import (see ``registry``)."""
