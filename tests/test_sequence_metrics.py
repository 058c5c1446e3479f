import pytest

from seq_plugins.sequence_metrics import sequence_metrics

EOS = 2


@pytest.mark.parametrize("prediction, target, expected", [
    ([5, 6, 7, EOS], [5, 6, 7, EOS], (1.0, 1.0, 1.0)),
    ([5, 9, 7, EOS], [5, 6, 7, EOS], (0.0, 0.25, 0.75)),     # one wrong symbol in the middle
    ([5, 6, EOS], [5, 6, 7, EOS], (0.0, 0.5, 0.5)),          # stops one symbol early
    ([5, 6, 7, 8, EOS], [5, 6, 7, EOS], (0.0, 0.75, 0.75)),  # runs one symbol long
    ([9, 6, 7, EOS], [5, 6, 7, EOS], (0.0, 0.0, 0.75)),      # first symbol wrong, the rest aligned
    ([EOS], [5, EOS], (0.0, 0.0, 0.0)),
    ([], [EOS], (0.0, 0.0, 0.0)),
])
def test_hand_made_predictions(prediction, target, expected):
    assert sequence_metrics(prediction, target) == pytest.approx(expected)


def test_empty_target_is_an_error():
    with pytest.raises(ValueError):
        sequence_metrics([EOS], [])
