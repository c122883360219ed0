from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder


def encoder():
    return ColumnTransformer(
        [("country", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["country"])],
        remainder="drop")
