import numpy as np
import pytest

from hospigen.rng import KeyedRandom


def test_draws_are_a_function_of_seed_kind_key_and_draw_only():
    a = KeyedRandom(7, "patient")
    keys = np.arange(1000)
    whole = a.uniform(keys, "age")
    parts = np.concatenate([a.uniform(keys[:10], "age"), a.uniform(keys[10:], "age")])
    shuffled = a.uniform(keys[::-1], "age")[::-1]
    assert np.array_equal(whole, parts)
    assert np.array_equal(whole, shuffled)
    assert np.array_equal(whole, KeyedRandom(7, "patient").uniform(keys, "age"))


def test_seed_kind_and_draw_each_change_the_stream():
    keys = np.arange(100)
    base = KeyedRandom(7, "patient").uniform(keys, "age")
    assert not np.array_equal(base, KeyedRandom(8, "patient").uniform(keys, "age"))
    assert not np.array_equal(base, KeyedRandom(7, "provider").uniform(keys, "age"))
    assert not np.array_equal(base, KeyedRandom(7, "patient").uniform(keys, "sex"))


def test_uniform_and_normal_have_the_right_moments():
    r = KeyedRandom(1, "x")
    keys = np.arange(200_000)
    u = r.uniform(keys, "u")
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005
    z = r.normal(keys, "z")
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01


def test_choice_follows_probabilities():
    idx = KeyedRandom(3, "c").choice(np.arange(100_000), "k", [0.2, 0.5, 0.3])
    shares = np.bincount(idx, minlength=3) / len(idx)
    assert np.allclose(shares, [0.2, 0.5, 0.3], atol=0.01)


def test_choice_rejects_bad_probabilities():
    with pytest.raises(ValueError):
        KeyedRandom(3, "c").choice([1, 2], "k", [-0.1, 1.1])
