"""Fitted corrections to the hand-set key scores (`harmony.estimate_key`); constants only.

Fitted by `.venv/bin/python bench/fit_key.py` on bench/trainset.py's 152 clips (generated songs,
grym compositions and music21 corpus pieces, none of them in the evaluation set): multinomial
logistic regression over the 24 keys of  hand-set score + W[mode] . (features rolled to the key's
tonic), L2 0.3 chosen by 5-fold cross-validation (ties to the larger penalty). Cross-validated
train exact 135/152 (hand-set 131/152); the tune part 68/72 before and after. The measure part
was not used.
"""

#: (major, minor) x 48: weights on the treble profile, bass profile, opening chroma and ending
#: chroma, 12 each, indexed by pitch class above the key's tonic.
KEY_WEIGHTS: tuple[tuple[float, ...], tuple[float, ...]] = (
    (
        0.0047, -0.0009, 0.0118, -0.0002, 0.0276, -0.0021, -0.0001, 0.0007, -0.0106, -0.0085, -0.0229, 0.0043,
        -0.0115, -0.0065, 0.0032, -0.0151, -0.026, -0.024, 0.006, 0.0196, 0.0078, 0.0216, -0.0006, 0.0294,
        -0.101, -0.0076, 0.0914, -0.013, -0.1214, -0.0387, 0.0482, 0.0486, 0.0265, 0.0749, -0.0137, 0.0166,
        -0.0254, -0.0214, 0.0411, -0.0097, 0.0157, -0.0296, 0.0264, 0.0062, 0.006, 0.0039, 0.0236, 0.0347,
    ),
    (
        0.0048, -0.0028, -0.0008, 0.0148, -0.0086, -0.0042, -0.0057, -0.0001, 0.0133, -0.0105, -0.0012, -0.0028,
        -0.0061, -0.0168, -0.0181, -0.0046, -0.0026, 0.0265, 0.0024, 0.0113, 0.0288, -0.0123, 0.0038, -0.0163,
        0.0403, -0.0029, -0.006, 0.0003, -0.0181, -0.0143, -0.0199, -0.0246, 0.0502, -0.0027, -0.0109, -0.0024,
        -0.0001, -0.0322, 0.0123, 0.0127, -0.0397, 0.0108, -0.0495, -0.0654, -0.0172, -0.0064, 0.0958, 0.0076,
    ),
)
