from datetime import UTC, datetime

from fulfillbridge.sandbox.clock import SandboxClock


def test_freezing_wall_time_does_not_move_monotonic_time() -> None:
    clock = SandboxClock()
    before = clock.monotonic()
    clock.freeze(datetime(2030, 1, 1, tzinfo=UTC))
    assert abs(clock.monotonic() - before) < 1.0
    assert clock.now().year == 2030
    clock.advance(10)
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert 9.0 < clock.monotonic() - before < 11.0
    clock.unfreeze()
    assert clock.now().year == 2030
    assert 9.0 < clock.monotonic() - before < 12.0
    clock.reset()
    assert not clock.frozen and clock.now().year < 2030
