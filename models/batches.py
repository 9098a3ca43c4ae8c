"""Reading a large set of rows a batch at a time, in id order (keyset paging, no OFFSET)."""


def by_id(session, statement, id_column, size):
    """Yield the rows of ``statement`` as lists of at most ``size``, in ``id_column`` order.

    Each batch is one query starting after the last id seen, so every batch costs the
    same however far the reading has gone, and memory holds one batch at a time.
    """
    last = ""
    while True:
        rows = session.execute(statement.where(id_column > last).order_by(id_column).limit(size)).all()
        if not rows:
            return
        yield rows
        # The first column is the id, or an entity (``select(Learner)``) that has it.
        first = rows[-1][0]
        last = first if isinstance(first, str) else first.id
