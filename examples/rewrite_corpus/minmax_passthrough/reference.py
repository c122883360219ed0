from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import MinMaxScaler


def encoder():
    return ColumnTransformer([("score", MinMaxScaler(), ["score"]),
                              ("clicks", "passthrough", ["clicks"])],
                             remainder="drop")
