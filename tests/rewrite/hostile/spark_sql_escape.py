"""Hostile program: spark sql escape."""
def prepare(mails):
    mails.df.sparkSession.sql("DROP TABLE x")
    return mails
