"""The bundle fixture is shared with tests/aws (built once per session)."""

from tests.aws.conftest import bundle  # noqa: F401
