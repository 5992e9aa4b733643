"""Figure 3 of "Network Programming for the Rest of Us" (2003): using threads.

The paper's Twisted program with only its import lines changed (and its Python 2 ``print``
statement written as Python 3's ``print()``). An event handler must not block, so it hands the
blocking work to the reactor's thread pool with ``callInThread``; the thread hands its result
back to the event loop's thread with ``callFromThread``.

    python examples/threads.py
"""

import time

from plait.app import reactor


def doLongCalculation():
    # Blocking work: it would freeze every other client if it ran in the event loop.
    time.sleep(0.2)
    return sum(i * i for i in range(100000))


def threadTask():
    # Runs in a thread from the reactor's pool, in parallel to the event loop.
    result = doLongCalculation()
    # Not thread-safe to touch the reactor from here: queue the call for the loop's thread.
    reactor.callFromThread(printResult, result)


def printResult(result):
    # Runs in the event loop's thread, in its next iteration.
    print("Result computed in a thread:", result)
    reactor.stop()


def startTask():
    # An event handler: it must not block, so the work goes to a thread.
    reactor.callInThread(threadTask)


reactor.callWhenRunning(startTask)
reactor.run()
