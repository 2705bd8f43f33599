"""IdentityEncoder: token layout, separators keep characters apart, errors, save/load."""

from __future__ import annotations

import pytest
import torch

from lengthen.errors import FaceError
from lengthen.identity.encoder import IdentityEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def encoder(**kw) -> IdentityEncoder:
    torch.manual_seed(0)
    return IdentityEncoder(**{"face_dim": 16, "width": 24, "num_tokens": 3, "num_heads": 2, **kw}).eval()


def banks(seed=0, sizes=(5, 2, 7)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn((k, 16), generator=g) for k in sizes]


def test_layout_is_characters_separated_by_the_separator_token():
    enc = encoder()
    tokens = enc(banks())
    assert tokens.shape == (3 * 3 + 2, 24)
    slices = enc.token_slices(3)
    assert [(s.start, s.stop) for s in slices] == [(0, 3), (4, 7), (8, 11)]
    for row in (3, 7):
        assert torch.equal(tokens[row], enc.separator[0])


def test_a_characters_tokens_do_not_depend_on_other_characters():
    enc = encoder()
    a, b, c = banks()
    base = enc([a, b])
    other = enc([a, c])
    first = enc.token_slices(2)[0]
    assert torch.equal(base[first], other[first])
    assert not torch.allclose(base[enc.token_slices(2)[1]], other[enc.token_slices(2)[1]])


def test_swapping_character_order_moves_tokens_by_the_index_embedding():
    enc = encoder()
    a, b, _ = banks()
    ab, ba = enc([a, b]), enc([b, a])
    s0, s1 = enc.token_slices(2)
    shift = enc.index_embed.weight[1] - enc.index_embed.weight[0]
    assert torch.allclose(ba[s1] - ab[s0], shift.expand(3, -1), atol=1e-6)  # character a moved 0 -> 1
    assert torch.allclose(ab[s1] - ba[s0], shift.expand(3, -1), atol=1e-6)  # character b moved 1 -> 0
    assert not torch.allclose(ab[s0], ab[s1])  # different people, different tokens


def test_bank_size_and_scale_do_not_matter_but_content_does():
    enc = encoder()
    a, b, _ = banks()
    # the bank is L2-normalised: rescaling the embeddings changes nothing
    assert torch.allclose(enc([a]), enc([3.0 * a]), atol=1e-5)
    assert torch.allclose(enc([a]), enc([a[[0, 1, 2, 3, 4, 0, 1, 2, 3, 4]]]), atol=1e-5)
    assert not torch.allclose(enc([a]), enc([b]), atol=1e-3)


def test_bad_banks_raise_face_errors():
    enc = encoder(max_characters=2)
    with pytest.raises(FaceError, match="no identity bank"):
        enc([])
    with pytest.raises(FaceError, match="bank 1"):
        enc([torch.randn(3, 16), torch.randn(3, 8)])
    with pytest.raises(FaceError, match="bank 0"):
        enc([torch.zeros(0, 16)])
    with pytest.raises(FaceError, match="3 characters"):
        enc(banks())


def test_save_and_load_round_trip(tmp_path):
    enc = encoder(face_dim=16)
    enc.save_pretrained(tmp_path / "identity")
    loaded = IdentityEncoder.from_pretrained(tmp_path / "identity", low_cpu_mem_usage=False).eval()
    assert loaded.config.face_dim == 16
    assert torch.equal(enc.queries, loaded.queries) and torch.equal(enc.separator, loaded.separator)
    assert torch.allclose(enc(banks()), loaded(banks()), atol=1e-6)
