"""nmfkit.images: stacks and matrices, galleries, reconstructions, parts versus PCA.

On the two real image sets that ship in packages (scikit-learn's digits, scikit-image's
LFW subset of faces), NMF's components are non-negative and sparser, by Hoyer's
measure, than PCA's signed ones (Lee & Seung 1999), and the reconstruction error falls
as the number of components rises.
"""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from matplotlib.figure import Figure
from sklearn.decomposition import NMF as SklearnNMF
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from nmfkit import NMF
from nmfkit.datasets import load_digits, load_faces
from nmfkit.images import (
    PartsComparison,
    compare_with_pca,
    component_table,
    fit_ranks,
    flatten_images,
    plot_components,
    plot_reconstruction,
    unflatten_images,
)
from nmfkit.metrics import sparseness

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def faces():
    return load_faces()


@pytest.fixture(scope="module")
def small_digits(digits):
    return digits.data[:300]


# ------------------------------------------------------------------ flatten / unflatten
@pytest.mark.parametrize("shape", [(5, 8, 8), (4, 3, 7), (3, 6, 5, 3), (2, 4, 4, 1)])
def test_flatten_then_unflatten_gives_the_stack_back(shape):
    stack = RNG.random(shape)
    X = flatten_images(stack)
    assert X.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(X[1], stack[1].ravel())  # one image a row, C order
    np.testing.assert_array_equal(unflatten_images(X, shape[1:]), stack)


def test_flatten_keeps_the_dtype_and_takes_a_list_of_images():
    images = [np.full((2, 3), i, dtype=np.uint8) for i in range(4)]
    X = flatten_images(images)
    assert X.dtype == np.uint8 and X.shape == (4, 6)
    assert X[:, 0].tolist() == [0, 1, 2, 3]


def test_unflatten_takes_one_row_and_a_dataframe():
    assert unflatten_images(np.arange(64.0), (8, 8)).shape == (1, 8, 8)
    frame = pd.DataFrame(RNG.random((3, 12)))
    assert unflatten_images(frame, (2, 2, 3)).shape == (3, 2, 2, 3)


@pytest.mark.parametrize("images, error, message", [
    (np.ones((8, 8)), ValueError, r"got 2 dimension\(s\), shape \(8, 8\).*images\[None\]"),
    (np.ones(8), ValueError, r"got 1 dimension"),
    (np.ones((2, 2, 2, 2, 2)), ValueError, r"got 5 dimension"),
    (np.ones((0, 4, 4)), ValueError, r"empty axis"),
    ([np.ones((2, 2)), np.ones((2, 3))], ValueError, r"item 0 is \(2, 2\) but item 1 is "
                                                     r"\(2, 3\)"),
    (np.array([[["a"]]]), TypeError, r"real numbers"),
])
def test_flatten_refuses_what_is_not_a_stack_of_images(images, error, message):
    with pytest.raises(error, match=message):
        flatten_images(images)


@pytest.mark.parametrize("X, image_shape, error, message", [
    (np.ones((3, 64)), (8, 9), ValueError, r"X has 64 columns but image_shape \(8, 9\) "
                                            r"holds 72 values.*images.shape\[1:\]"),
    (np.ones((3, 64)), (64,), ValueError, r"\(height, width\) or \(height, width, channels\)"),
    (np.ones((3, 64)), (8, -8), ValueError, r"positive integers"),
    (np.ones((3, 64)), (8.0, 8.0), ValueError, r"positive integers"),
    (np.ones((3, 64)), 64, TypeError, r"must be a tuple"),
    (np.ones((3, 64)), None, ValueError, r"image_shape is needed"),
    (np.ones((2, 3, 64)), (8, 8), ValueError, r"got 3 dimensions"),
    (sp.csr_matrix(np.ones((3, 64))), (8, 8), TypeError, r"sparse matrix.*toarray"),
])
def test_unflatten_checks_the_shape(X, image_shape, error, message):
    with pytest.raises(error, match=message):
        unflatten_images(X, image_shape)


# ------------------------------------------------------------------------- galleries
def _cmaps(fig):
    return {ax.images[0].get_cmap().name for ax in fig.axes}


@pytest.mark.parametrize("make", [
    lambda X: NMF(6, init="nndsvda", max_iter=50, random_state=0).fit(X),
    lambda X: SklearnNMF(6, init="nndsvda", max_iter=50).fit(X),
    lambda X: PCA(6, random_state=0).fit(X),
    lambda X: NMF(6, init="nndsvda", max_iter=50, random_state=0).fit(X).components_,
], ids=["nmfkit NMF", "scikit-learn NMF", "PCA", "array"])
def test_plot_components_draws_one_axis_per_component(make, small_digits):
    fig = plot_components(make(small_digits), (8, 8))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == [str(i) for i in range(6)]


def test_plot_components_marks_signed_components_with_a_diverging_map(small_digits):
    nmf = NMF(6, init="nndsvda", max_iter=50, random_state=0).fit(small_digits)
    pca = PCA(6, random_state=0).fit(small_digits)
    assert _cmaps(plot_components(nmf, (8, 8))) == {"gray_r"}
    assert _cmaps(plot_components(pca, (8, 8))) == {"RdBu_r"}
    # A signed image is scaled symmetrically, so white is zero.
    low, high = plot_components(pca, (8, 8)).axes[0].images[0].get_clim()
    assert low == pytest.approx(-high)


def test_plot_components_options_and_colour_images():
    H = RNG.random((10, 4 * 5 * 3))
    fig = plot_components(H, (4, 5, 3), n_components=4, titles=list("abcd"), n_columns=2,
                          title="colour parts")
    assert len(fig.axes) == 4 and [ax.get_title() for ax in fig.axes] == list("abcd")
    assert fig.axes[0].images[0].get_array().shape == (4, 5, 3)
    assert fig.get_suptitle() == "colour parts"


def test_plot_components_errors(small_digits):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        plot_components(NMF(4), (8, 8))
    with pytest.raises(ValueError, match="the components has 64 columns but image_shape "
                                         r"\(4, 4\) holds 16"):
        plot_components(PCA(3).fit(small_digits), (4, 4))
    with pytest.raises(ValueError, match="3 titles for 4 components"):
        plot_components(RNG.random((4, 16)), (4, 4), titles=["a", "b", "c"])


# ------------------------------------------------------------------ reconstructions
def test_fit_ranks_fits_one_clone_per_k_in_increasing_order(small_digits):
    template = NMF(init="nndsvda", max_iter=50, random_state=0)
    models = fit_ranks(small_digits, template, ks=(10, 2, 5))
    assert list(models) == [2, 5, 10]
    assert [m.components_.shape for m in models.values()] == [(2, 64), (5, 64), (10, 64)]
    assert not hasattr(template, "components_")  # the template stays a template


@pytest.mark.parametrize("ks, message", [
    ((), "non-empty"), ((0, 2), "positive integers"), ((2, 2.5), "positive integers"),
    ((3, 3), "repeated"),
])
def test_fit_ranks_checks_ks(ks, message, small_digits):
    with pytest.raises(ValueError, match=message):
        fit_ranks(small_digits, ks=ks)


def test_reconstruction_error_falls_as_k_rises(digits, faces):
    for X in (digits.data[:600], faces.data):
        models = fit_ranks(X, NMF(init="nndsvda", max_iter=200, random_state=0),
                           ks=(2, 5, 10, 20))
        table = component_table(X, models)
        assert list(table.index) == [2, 5, 10, 20]
        assert table["n_components"].tolist() == [2, 5, 10, 20]
        errors = table["relative_error"].to_numpy()
        assert np.all(np.diff(errors) < 0), errors
        assert 0 < errors[-1] < errors[0] < 1


def test_plot_reconstruction_fits_a_template_per_k(small_digits):
    fig = plot_reconstruction(small_digits, NMF(init="nndsvda", max_iter=50, random_state=0),
                              (8, 8), ks=(8, 2), n_images=3)
    assert len(fig.axes) == 3 * (1 + 2)
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles[0] == "original"
    assert titles[1].startswith("k = 2\nerror ") and titles[2].startswith("k = 8\nerror ")
    assert float(titles[2].split()[-1]) < float(titles[1].split()[-1])


def test_plot_reconstruction_takes_prefit_models_a_stack_and_rows(faces):
    models = fit_ranks(faces.data, PCA(random_state=0), ks=(3, 6))
    fig = plot_reconstruction(faces.images, models, index=[0, 5])  # the stack has its shape
    assert len(fig.axes) == 2 * 3
    # Every image of a row is drawn on the original's grey scale.
    original = faces.images[0]
    for ax in fig.axes[:3]:
        assert ax.images[0].get_clim() == pytest.approx((original.min(), original.max()))


def test_plot_reconstruction_errors(small_digits):
    with pytest.raises(ValueError, match="image_shape is needed"):
        plot_reconstruction(small_digits, ks=(2,))
    with pytest.raises(ValueError, match="outside X's 300 rows"):
        plot_reconstruction(small_digits, image_shape=(8, 8), ks=(2,), index=[300])
    with pytest.raises(TypeError, match="template fitted once per k"):
        plot_reconstruction(small_digits, "NMF", (8, 8))
    with pytest.raises(ValueError, match=r"stack of images of shape \(8, 8\) but "
                                         r"image_shape is \(4, 16\)"):
        plot_reconstruction(small_digits.reshape(-1, 8, 8), image_shape=(4, 16))


# -------------------------------------------------------------------- parts vs PCA
@pytest.mark.parametrize("data_set", ["digits", "faces"])
def test_nmf_parts_are_non_negative_and_sparser_than_pca(data_set, request):
    data = request.getfixturevalue(data_set)
    k = 16
    result = compare_with_pca(data.data, data.image_shape, k, random_state=0)
    assert isinstance(result, PartsComparison)
    figure, table = result
    assert len(figure.axes) == 2 * k
    assert list(table.index) == ["NMF", "PCA"]
    assert list(table.columns) == ["n_components", "sparseness", "negative_fraction",
                                   "zero_fraction", "relative_error"]
    H = result.nmf.components_
    assert H.shape == (k, int(np.prod(data.image_shape))) and H.min() >= 0
    assert table.loc["NMF", "negative_fraction"] == 0
    assert table.loc["PCA", "negative_fraction"] > 0.3  # eigenimages are signed
    # Hoyer's sparseness, as nmfkit.metrics measures it, and clearly higher for NMF.
    assert table.loc["NMF", "sparseness"] == pytest.approx(sparseness(H, axis=1).mean())
    assert table.loc["NMF", "sparseness"] > table.loc["PCA", "sparseness"] + 0.1
    # PCA is the best rank-k fit (plus its mean), so NMF pays a little for its parts.
    nmf_error, pca_error = table.loc["NMF", "relative_error"], table.loc["PCA", "relative_error"]
    assert pca_error <= nmf_error < pca_error + 0.1


def test_compare_with_pca_takes_templates_and_checks_its_input(small_digits):
    figure, table = compare_with_pca(
        small_digits.reshape(-1, 8, 8), n_components=4,
        nmf=SklearnNMF(init="nndsvda", max_iter=100), pca=PCA(svd_solver="full"))
    assert table["n_components"].tolist() == [4, 4] and len(figure.axes) == 8
    with pytest.raises(ValueError, match="n_components=65 exceeds min"):
        compare_with_pca(small_digits, (8, 8), 65)
    with pytest.raises(ValueError, match="Negative values in data passed to NMF"):
        compare_with_pca(small_digits - 1, (8, 8), 4)
    with pytest.raises(ValueError, match="NaN or infinite value .first at row 0, column 3"):
        compare_with_pca(np.where(np.arange(64) == 3, np.nan, small_digits), (8, 8), 4)


def test_component_table_labels_and_errors(small_digits):
    nmf = NMF(4, init="nndsvda", max_iter=50, random_state=0).fit(small_digits)
    table = component_table(small_digits, {"mine": nmf})
    assert list(table.index) == ["mine"] and table.index.name == "model"
    assert list(component_table(small_digits, nmf).index) == ["NMF"]
    with pytest.raises(ValueError, match="components of 64 pixels"):
        component_table(small_digits[:, :16], nmf)
    with pytest.raises(TypeError, match="a dict of them"):
        component_table(small_digits, [nmf])
