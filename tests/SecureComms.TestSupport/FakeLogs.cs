using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace SecureComms.TestSupport;

/// <summary>
/// Questions tests ask of logs collected by <see cref="FakeLogCollector"/> (Microsoft.Extensions.Diagnostics.Testing):
/// was an event with this id and this text logged, how often, and waiting for one that another thread logs.
/// </summary>
public static class FakeLogs
{
    /// <summary>A logger factory whose every logger writes to <paramref name="collector"/>, for types that take an <see cref="ILoggerFactory"/>.</summary>
    public static ILoggerFactory LoggerFactory(FakeLogCollector collector) =>
        Microsoft.Extensions.Logging.LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));

    /// <summary>Whether an event with <paramref name="eventId"/> whose message contains <paramref name="text"/> was logged.</summary>
    public static bool Contains(this FakeLogCollector collector, int eventId, string text)
    {
        ArgumentNullException.ThrowIfNull(collector);
        foreach (FakeLogRecord record in collector.GetSnapshot())
        {
            if (record.Id.Id == eventId && record.Message.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc cref="Contains(FakeLogCollector, int, string)"/>
    public static bool Contains(this FakeLogger logger, int eventId, string text)
    {
        ArgumentNullException.ThrowIfNull(logger);
        return logger.Collector.Contains(eventId, text);
    }

    /// <summary>How many events with <paramref name="eventId"/> were logged.</summary>
    public static int CountOf(this FakeLogCollector collector, int eventId)
    {
        ArgumentNullException.ThrowIfNull(collector);
        int count = 0;
        foreach (FakeLogRecord record in collector.GetSnapshot())
        {
            if (record.Id.Id == eventId)
            {
                count++;
            }
        }

        return count;
    }

    /// <inheritdoc cref="CountOf(FakeLogCollector, int)"/>
    public static int CountOf(this FakeLogger logger, int eventId)
    {
        ArgumentNullException.ThrowIfNull(logger);
        return logger.Collector.CountOf(eventId);
    }

    /// <summary>
    /// Waits until a record matching <paramref name="match"/> is logged and returns it, for events logged on another
    /// thread such as a configuration reload; fails naming <paramref name="what"/> after the deadline.
    /// </summary>
    public static Task<FakeLogRecord> WaitForAsync(this FakeLogCollector collector, Func<FakeLogRecord, bool> match, string what, TimeSpan? deadline = null)
    {
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(match);
        return Eventually.WaitForAsync(() => collector.GetSnapshot().FirstOrDefault(match), what, deadline);
    }
}
