"""Assignment 01: plausible wrong answers (source, hint in the failure message) and valid
alternatives, per graded function. Graded by tests/test_verify.py
(through the grader) and tests/test_hidden_inputs.py (the hidden tests alone)."""

ASSIGNMENT = "01_bar_manifold"

WRONG = {
    "draw_bar": [
        (
            "def draw_bar(column, size=4):\n"
            "    image = torch.zeros(size, size)\n"
            "    image[column, :] = 1.0\n"
            "    return image.reshape(-1)",
            "you drew a row",
        ),
        (
            "def draw_bar(column, size=4):\n"
            "    image = torch.zeros(size, size)\n"
            "    image[:, column - 1] = 1.0\n"
            "    return image.reshape(-1)",
            "you counted columns from 1",
        ),
        (
            "def draw_bar(column, size=4):\n"
            "    image = torch.zeros(size, size)\n"
            "    image[:, column] = 1.0\n"
            "    return image",
            "flatten it",
        ),
        (  # hard-coded to the visible tests: right there, wrong on hidden sizes
            "def draw_bar(column, size=4):\n"
            "    if size == 5:\n"
            "        image = torch.zeros(5, 5); image[:, 3] = 1.0; return image.reshape(-1)\n"
            "    image = torch.zeros(4, 4); image[:, 1] = 1.0; return image.reshape(-1)",
            "size=",  # the message names the hidden input it failed on
        ),
    ],
    "decoder_forward": [
        (
            "def decoder_forward(z, W1, b1, W2, b2):\n    return (z @ W1.T + b1) @ W2.T + b2",
            "you left out the tanh",
        ),
        (
            "def decoder_forward(z, W1, b1, W2, b2):\n"
            "    return torch.sigmoid(torch.tanh(z @ W1.T + b1) @ W2.T + b2)",
            "return the logits",
        ),
        (
            "def decoder_forward(z, W1, b1, W2, b2):\n"
            "    return torch.sigmoid(z @ W1.T + b1) @ W2.T + b2",
            "sigmoid where the tanh belongs",
        ),
        (
            "def decoder_forward(z, W1, b1, W2, b2):\n    return torch.tanh(z @ W1.T) @ W2.T",
            "left out the biases",
        ),
        (
            "def decoder_forward(z, W1, b1, W2, b2):\n"
            "    return torch.tanh(torch.tanh(z @ W1.T + b1) @ W2.T + b2)",
            "tanh to the output",
        ),
        (  # a shape slip: W1 used untransposed only works when H == L
            "def decoder_forward(z, W1, b1, W2, b2):\n"
            "    return torch.tanh(z @ W1 + b1) @ W2.T + b2",
            "",
        ),
    ],
    "count_decoder_parameters": [
        (
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return latent_dim * hidden_dim + hidden_dim * data_dim",
            "not the biases",
        ),
        (
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return hidden_dim + data_dim",
            "not the weights",
        ),
        (
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n    return 168",
            "right answer is",
        ),
        (  # W1 and W2 multiplied together: equals "one bias vector" at L = 1, not at L = 2
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return latent_dim * hidden_dim * data_dim + hidden_dim + data_dim",
            "you multiplied L * H * D",
        ),
        (
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return latent_dim * hidden_dim + hidden_dim * data_dim + data_dim",
            "one bias vector",
        ),
        (  # right for the visible L = 2 only
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return 2 * hidden_dim + hidden_dim + hidden_dim * data_dim + data_dim",
            "count_decoder_parameters(",
        ),
        (
            "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
            "    return float(latent_dim * hidden_dim + hidden_dim + hidden_dim * data_dim"
            " + data_dim)",
            "should return an int",
        ),
    ],
    "log_likelihood": [
        (
            "def log_likelihood(x, logits):\n"
            "    p = torch.sigmoid(logits)\n"
            "    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(-1)",
            "NaN or infinite",
        ),
        (
            "def log_likelihood(x, logits):\n"
            "    return (x * logits - torch.nn.functional.softplus(logits)).mean(-1)",
            "you averaged over pixels",
        ),
        (
            "def log_likelihood(x, logits):\n"
            "    return (torch.nn.functional.softplus(logits) - x * logits).sum(-1)",
            "negative log-likelihood",
        ),
        (
            "def log_likelihood(x, logits):\n"
            "    return (x * torch.nn.functional.logsigmoid(logits)).sum(-1)",
            "left out the (1 - x)",
        ),
        (
            "def log_likelihood(x, logits):\n"
            "    return x * logits - torch.nn.functional.softplus(logits)",
            "did not sum over pixels",
        ),
        (  # log sigmoid(-l) for the pixels that are on: the two cases swapped
            "def log_likelihood(x, logits):\n"
            "    F = torch.nn.functional\n"
            "    return (x * F.logsigmoid(-logits) + (1 - x) * F.logsigmoid(logits)).sum(-1)",
            "is not right",
        ),
        (  # summed over the images instead of the pixels
            "def log_likelihood(x, logits):\n"
            "    return (x * logits - torch.nn.functional.softplus(logits)).sum(0)",
            "should have shape",
        ),
    ],
}

VALID = {
    "draw_bar": [
        "def draw_bar(column, size=4):\n"
        "    return (torch.arange(size * size) % size == column).float()",
        "def draw_bar(column, size=4):\n    return torch.eye(size)[column].repeat(size)",
    ],
    "decoder_forward": [
        "def decoder_forward(z, W1, b1, W2, b2):\n"
        "    F = torch.nn.functional\n"
        "    return F.linear(torch.tanh(F.linear(z, W1, b1)), W2, b2)",
        "def decoder_forward(z, W1, b1, W2, b2):\n"
        "    h = torch.tanh(torch.einsum('hl,bl->bh', W1, z) + b1)\n"
        "    return torch.einsum('dh,bh->bd', W2, h) + b2",
    ],
    "count_decoder_parameters": [
        "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
        "    return (latent_dim + 1) * hidden_dim + (hidden_dim + 1) * data_dim",
        "def count_decoder_parameters(latent_dim, hidden_dim, data_dim):\n"
        "    net = generative_network(latent_dim=latent_dim, data_dim=data_dim,"
        " hidden_dims=(hidden_dim,))\n"
        "    return sum(p.numel() for p in net.parameters())",
    ],
    "log_likelihood": [
        "def log_likelihood(x, logits):\n"
        "    return torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(-1)",
        "def log_likelihood(x, logits):\n"
        "    F = torch.nn.functional\n"
        "    return -F.binary_cross_entropy_with_logits(logits, x, reduction='none').sum(-1)",
        "def log_likelihood(x, logits):\n"
        "    F = torch.nn.functional\n"
        "    return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(-1)",
    ],
}
