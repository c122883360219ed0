from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def encoder():
    return ColumnTransformer(
        [("country", OneHotEncoder(categories=[["DE", "FR", "UK"]], sparse_output=False,
                                   handle_unknown="ignore"), ["country"]),
         ("amount", StandardScaler(), ["amount"])],
        remainder="drop")
