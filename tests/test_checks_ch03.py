import numpy as np
import pytest
import scipy.linalg

from genae.checks import ExerciseError
from genae.checks.ch03 import check_restoring_noise, check_stationary, check_transition


def reference_transition(W, b, A, c, S, decoder_std, denoise_std):
    return A @ W, A @ b + c, (decoder_std ** 2 + denoise_std ** 2) * A @ A.T + S


def reference_stationary(M, m, Q):
    if np.abs(np.linalg.eigvals(M)).max() >= 1:
        raise ValueError("no stationary distribution: the spectral radius of M is >= 1")
    return np.linalg.solve(np.eye(len(m)) - M, m), scipy.linalg.solve_discrete_lyapunov(M, Q)


def iterated_stationary(M, m, Q):
    # another right answer: run the moment recursion until it stops moving
    if np.abs(np.linalg.eigvals(M)).max() >= 1:
        raise ValueError("spectral radius >= 1")
    mean, cov = np.zeros(len(m)), np.zeros_like(Q)
    for _ in range(5000):
        mean, cov = M @ mean + m, M @ cov @ M.T + Q
    return mean, cov


def test_references_pass(capsys):
    check_transition(reference_transition)
    check_stationary(reference_stationary)
    check_stationary(iterated_stationary)
    out = capsys.readouterr().out
    assert "my_transition: all 4 checks passed" in out and "my_stationary: all 5 checks passed" in out


def stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("check", [check_transition, check_stationary, check_restoring_noise])
def test_stub_fails(check):
    with pytest.raises(ExerciseError, match="not written yet"):
        check(stub)


def test_transposed_m_fails():
    def transposed(W, b, A, c, S, decoder_std, denoise_std):
        M, m, Q = reference_transition(W, b, A, c, S, decoder_std, denoise_std)
        return M.T, m, Q

    with pytest.raises(ExerciseError, match="transpose"):
        check_transition(transposed)


def test_forgetting_the_decoder_noise_fails():
    def no_decoder_noise(W, b, A, c, S, decoder_std, denoise_std):
        return reference_transition(W, b, A, c, S, 0.0, denoise_std)

    # on a case without corruption Q is then S alone; on one with corruption a noise source is missing
    with pytest.raises(ExerciseError, match="the decoder's draw"):
        check_transition(no_decoder_noise)


def test_forgetting_the_corruption_fails():
    def no_corruption(W, b, A, c, S, decoder_std, denoise_std):
        return reference_transition(W, b, A, c, S, decoder_std, 0.0)

    with pytest.raises(ExerciseError, match="leaves out one noise source"):
        check_transition(no_corruption)


def test_encoder_covariance_only_fails():
    def only_s(W, b, A, c, S, decoder_std, denoise_std):
        return A @ W, A @ b + c, S

    with pytest.raises(ExerciseError, match="only the encoder's covariance"):
        check_transition(only_s)


def test_wrong_shape_fails():
    def flat(W, b, A, c, S, decoder_std, denoise_std):
        M, m, Q = reference_transition(W, b, A, c, S, decoder_std, denoise_std)
        return M.reshape(-1), m, Q

    with pytest.raises(ExerciseError, match="should have shape"):
        check_transition(flat)


def test_elementwise_stationary_fails():
    def elementwise(M, m, Q):  # the scalar AR(1) formula applied entry by entry
        return np.linalg.solve(np.eye(len(m)) - M, m), Q / (1 - M ** 2)

    with pytest.raises(ExerciseError, match="stationary covariance"):
        check_stationary(elementwise)


def test_transposed_lyapunov_fails():
    def transposed(M, m, Q):  # right mean, but the covariance of z' = M^T z + ...
        return np.linalg.solve(np.eye(len(m)) - M, m), scipy.linalg.solve_discrete_lyapunov(M.T, Q)

    with pytest.raises(ExerciseError, match="M C M\\^T"):
        check_stationary(transposed)


def test_no_error_for_unstable_chain_fails():
    def never_raises(M, m, Q):
        return np.linalg.solve(np.eye(len(m)) - M, m), scipy.linalg.solve_discrete_lyapunov(M, Q)

    with pytest.raises(ExerciseError, match="raise ValueError instead"):
        check_stationary(never_raises)


def test_wrong_return_type_fails():
    with pytest.raises(ExerciseError, match="tuple of 2"):
        check_stationary(lambda M, m, Q: M)


def test_restoring_noise_passes_the_decoders_std(capsys):
    check_restoring_noise(lambda model: model.decoder_std)
    assert "my_restoring_noise: all 3 checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, words", [
    (lambda model: model.decoder_std ** 2, "standard deviation"),
    (lambda model: 0.5, "paper's corruption"),
    (lambda model: 0.0, "narrower"),
    (lambda model: 2 * model.decoder_std, "settles W2"),
])
def test_restoring_noise_wrong_answers_fail(wrong, words):
    with pytest.raises(ExerciseError, match=words):
        check_restoring_noise(wrong)


def test_restoring_noise_not_a_number_fails():
    with pytest.raises(ExerciseError, match="one number"):
        check_restoring_noise(lambda model: "s")
