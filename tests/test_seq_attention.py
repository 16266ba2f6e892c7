"""Attention modules (engine/seq/attention.py): one interface, three scoring functions."""
import pytest
import torch

from engine.seq.attention import KINDS, make_attention


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("with_time", [False, True])
def test_weights_sum_to_one_and_ignore_padding(kind, with_time):
    torch.manual_seed(0)
    attn = make_attention(kind, 8, 8, 6)
    memory = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    query = torch.randn(3, 4, 8) if with_time else torch.randn(3, 8)
    context, w = attn(query, attn.prepare(memory), memory, mask)
    lead = (3, 4) if with_time else (3,)
    assert w.shape == lead + (5,) and context.shape == lead + (8,)
    assert torch.allclose(w.sum(-1), torch.ones(lead), atol=1e-6)
    wm = w if with_time else w.unsqueeze(1)
    assert (wm[1, :, 3:] == 0).all() and (wm[2, :, 1:] == 0).all()
    # the context is the weighted average of the memory
    expect = torch.einsum("b...s,bsd->b...d", w, memory)
    assert torch.allclose(context, expect, atol=1e-5)


def test_dot_attention_looks_at_the_matching_key():
    attn = make_attention("luong-dot", 16, 16)
    memory = torch.eye(16)[:6].unsqueeze(0) * 20.0            # 6 orthogonal keys
    _, w = attn(memory[:, 4], attn.prepare(memory), memory)
    assert w.argmax(-1).item() == 4 and w[0, 4] > 0.9


def test_additive_attention_learns_to_point():
    """Bahdanau attention trained for a few steps to attend to the position marked in the memory."""
    torch.manual_seed(0)
    attn = make_attention("bahdanau", 4, 5, 8)
    opt = torch.optim.Adam(attn.parameters(), lr=0.05)
    for _ in range(150):
        memory = torch.randn(16, 7, 5)
        target = torch.randint(0, 7, (16,))
        memory[torch.arange(16), target, 0] = 3.0              # the marked position
        _, w = attn(torch.zeros(16, 4), attn.prepare(memory), memory)
        loss = -torch.log(w[torch.arange(16), target] + 1e-9).mean()
        opt.zero_grad(), loss.backward(), opt.step()
    assert loss.item() < 0.3


def test_unknown_kind_and_mismatched_dot_sizes():
    with pytest.raises(ValueError):
        make_attention("cosine", 4, 4)
    with pytest.raises(ValueError):
        make_attention("luong-dot", 4, 8)
