"""The seed's bot control API (`/api/ml/*`): one owner's bot profiles, when to retrain, training and warm-up."""
