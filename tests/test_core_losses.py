"""The losses are the paper's: checked against its closed-form derivatives."""
import torch

from nst_core.losses import content_loss, gram_per_position, style_layer_loss


def _feature_map(seed: int, channels: int = 6, height: int = 5, width: int = 7):
    generator = torch.Generator().manual_seed(seed)
    pre_activation = torch.randn(1, channels, height, width, generator=generator, dtype=torch.float64)
    return pre_activation.requires_grad_(True)


def test_content_gradient_matches_paper_closed_form():
    z = _feature_map(0)
    target = torch.relu(torch.randn(z.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    features = torch.relu(z)
    loss = content_loss(features, target, reduction="sum")
    loss.backward()
    # Paper eq. 2: dL/dF = (F - P) where F > 0, else 0.
    expected = torch.where(z > 0, features.detach() - target, torch.zeros_like(target))
    assert torch.allclose(z.grad, expected, atol=1e-12)
    assert torch.isclose(loss, 0.5 * ((features - target) ** 2).sum())


def test_style_gradient_matches_paper_closed_form():
    z = _feature_map(2)
    n, m = z.shape[1], z.shape[2] * z.shape[3]
    style_features = torch.relu(torch.randn(1, n, 4, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    features = torch.relu(z)
    # Same-size style image: the paper's A = F_style F_styleᵀ over M positions.
    style_same = torch.relu(torch.randn(z.shape, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    a_matrix = style_same.reshape(n, m) @ style_same.reshape(n, m).T
    loss = style_layer_loss(features, a_matrix / m)
    loss.backward()
    f = features.detach().reshape(n, m)
    g = f @ f.T
    assert torch.isclose(loss, ((g - a_matrix) ** 2).sum() / (4 * n**2 * m**2))
    # Paper eq. 6: dE/dF = (Fᵀ (G − A))ᵀ / (N² M²) where F > 0, else 0.
    closed_form = ((f.T @ (g - a_matrix)).T / (n**2 * m**2)).reshape(z.shape)
    expected = torch.where(z > 0, closed_form, torch.zeros_like(closed_form))
    assert torch.allclose(z.grad, expected, atol=1e-12)
    assert style_features.shape[1] == n  # a differently sized style map has a Gram of the same shape
    assert gram_per_position(style_features).shape == (n, n)


def test_gram_is_sum_over_positions_divided_by_count():
    f = torch.arange(12, dtype=torch.float32).reshape(1, 2, 2, 3)
    flat = f.reshape(2, 6)
    assert torch.allclose(gram_per_position(f), flat @ flat.T / 6)
