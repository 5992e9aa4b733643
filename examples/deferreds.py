"""Figure 4 of "Network Programming for the Rest of Us" (2003): Deferreds.

The paper's Twisted program with only its import lines changed (and Python 2 ``print``
statements written as Python 3's ``print()``). The figure sets three ways to get data side by
side::

    # blocking                     # callbacks                    # Deferred
    try:                           getData(gotResult, gotError)   deferred = getData()
        result = getData()                                        deferred.addCallback(gotResult)
    except Exception:                                             deferred.addErrback(gotError)
        gotError()
    else:
        gotResult(result)

Here ``getData`` returns a Deferred that fires later (``reactor.callLater`` stands in for a
network or database round trip), once with a result and once with an error.

    python examples/deferreds.py
"""

import sys

from plait.app import reactor
from plait.defer import Deferred, DeferredList
from plait.log import Logger, globalLogPublisher, textFileLogObserver

log = Logger()


def getData(inputData):
    # The result is not ready yet: return a Deferred, fire it when the data "arrives".
    log.info("Asking for data on {inputData!r}", inputData=inputData)
    deferred = Deferred()
    if inputData >= 0:
        reactor.callLater(0.5, deferred.callback, inputData * 3)
    else:
        reactor.callLater(0.5, deferred.errback, ValueError("no data for a negative number"))
    return deferred


def gotResult(result):
    print("Got the result:", result)


def gotError(failure):
    print("Got an error:", failure.getErrorMessage())


def allDone(results):
    log.info("Both requests are done; stopping the reactor")
    reactor.stop()


globalLogPublisher.addObserver(textFileLogObserver(sys.stdout))

deferred = getData(3)
deferred.addCallback(gotResult)
deferred.addErrback(gotError)

otherDeferred = getData(-1)
otherDeferred.addCallback(gotResult)
otherDeferred.addErrback(gotError)

DeferredList([deferred, otherDeferred]).addCallback(allDone)
reactor.run()
