from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import StandardScaler


def encoder():
    return ColumnTransformer([("scaled", StandardScaler(), ["age", "income"])],
                             remainder="drop")
