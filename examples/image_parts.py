"""Parts of faces and of digits: NMF beside PCA (Lee & Seung 1999).

Fits NMF and PCA with 16 components each on the 100 faces of the LFW subset that ships
with scikit-image (25 x 25 pixels) and on scikit-learn's 1,797 handwritten digits
(8 x 8), draws NMF's non-negative parts beside PCA's signed components, and prints, per
method, Hoyer's sparseness of the components, their share of negative entries and the
relative reconstruction error.  Then it rebuilds a few faces from 2, 5, 10, 25 and 50
NMF parts.

Saves ``faces_parts_vs_pca.png``, ``digits_parts_vs_pca.png`` and
``faces_reconstruction.png``.
"""
import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from nmfkit import images  # noqa: E402
from nmfkit.datasets import load_digits, load_faces  # noqa: E402

pd.set_option("display.width", 120)
tables = {}
for name, data in (("faces", load_faces()), ("digits", load_digits())):
    # A stack of images (n, h, w) needs no image_shape; the matrix X would need one.
    figure, table = images.compare_with_pca(data.images, n_components=16, random_state=0)
    figure.savefig(f"{name}_parts_vs_pca.png", dpi=110)
    tables[name] = table
    print(f"\n{name}: {len(data.images)} images of {data.image_shape[0]} x "
          f"{data.image_shape[1]} pixels, 16 components each")
    print(table.round(3).to_string())

faces = load_faces()
models = images.fit_ranks(faces.data, ks=(2, 5, 10, 25, 50))
images.plot_reconstruction(faces.data, models, faces.image_shape, n_images=4).savefig(
    "faces_reconstruction.png", dpi=110)
print("\nfaces rebuilt from k NMF parts:")
print(images.component_table(faces.data, models)[["sparseness", "relative_error"]]
      .round(3).to_string())
