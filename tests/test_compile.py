"""fit(compile=...): the compiled loss trains like the eager one (timings: benchmarks/gpu_check.sh)."""

import pytest
import torch
from conftest import tiny

from genae.train import fit


@pytest.mark.parametrize("kind", ["vae", "daae"])
def test_a_compiled_loss_trains_like_the_eager_one(kind, digits16):
    torch._dynamo.reset()
    eager, compiled = tiny(kind), tiny(kind)
    h_eager = fit(eager, digits16, epochs=1, progress=False)
    h_compiled = fit(compiled, digits16, epochs=1, progress=False, compile="aot_eager")  # no C++ build needed
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0, "nothing was compiled"
    assert h_compiled[0].keys() == h_eager[0].keys()
    for key, value in h_eager[0].items():
        assert h_compiled[0][key] == pytest.approx(value, rel=1e-4), key
    for key, value in eager.state_dict().items():
        assert torch.allclose(compiled.state_dict()[key].float(), value.float(), atol=1e-4), key


def test_compile_must_be_a_flag_or_a_backend_name(digits16):
    with pytest.raises(ValueError, match="compile must be"):
        fit(tiny(), digits16, epochs=1, progress=False, compile=1)
