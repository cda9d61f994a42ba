"""The dispatcher's bounded backlog: a submit waits while it is full, and no longer."""

import asyncio

from services.notify.dispatcher import Dispatcher


async def test_a_submit_waits_while_the_backlog_is_full_and_goes_on_as_work_finishes() -> None:
    dispatcher = Dispatcher(concurrency=2, backlog=3)
    release = {i: asyncio.Event() for i in range(5)}
    finished: list[int] = []

    async def work(i: int) -> bool:
        await release[i].wait()
        finished.append(i)
        return True

    for i in range(3):
        await dispatcher.submit(work(i))
    fourth = asyncio.create_task(dispatcher.submit(work(3)))
    await asyncio.sleep(0)  # let it reach its wait
    assert not fourth.done()  # three in the backlog: full

    release[1].set()
    await asyncio.wait_for(fourth, timeout=1)
    assert dispatcher.busy == 3

    for i in (0, 2, 3, 4):
        release[i].set()
    await dispatcher.submit(work(4))
    await dispatcher.drain(grace=1)
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert dispatcher.busy == 0
