import pytest

from lengthen.media.synthetic import ENCODERS, stamped_clip


@pytest.fixture(scope="session")
def stamped(tmp_path_factory):
    """Frame-stamped clips, made once per session: (codec, rate) -> path."""
    folder = tmp_path_factory.mktemp("stamped")
    made = {}

    def get(codec: str, rate: str, frames: int = 60, **kw):
        key = (codec, rate, frames, tuple(sorted(kw.items())))
        if key not in made:
            name = f"{codec}_{rate.replace('/', '_')}_{frames}_{len(made)}{ENCODERS[codec][4]}"
            made[key] = stamped_clip(folder / name, frames, rate, codec, **kw)
        return made[key]

    return get
