using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureComms.Load.Churn;

/// <summary>
/// Counts the warnings and errors a host logs, by category and event id, with the first message of each: what
/// SecureComms said about the rotations (a certificate read before its key was replaced, retried; a refused file).
/// </summary>
internal sealed class LogCounts(string side) : ILoggerProvider
{
    private readonly ConcurrentDictionary<(string Category, int EventId, LogLevel Level), (int Count, string First)> _counts = new();

    /// <summary>One line per category and event id, e.g. <c>server Warning SecureComms.Certificates 1001 × 2: …</c>.</summary>
    public IEnumerable<string> Lines =>
        _counts.OrderBy(c => c.Key.EventId).Select(c => $"{side} {c.Key.Level} {c.Key.Category} {c.Key.EventId} × {c.Value.Count}: {c.Value.First}");

    public ILogger CreateLogger(string categoryName) => new Counter(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Counter(LogCounts counts, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                counts._counts.AddOrUpdate((category, eventId.Id, logLevel), static (_, message) => (1, message), static (_, count, _) => (count.Count + 1, count.First), formatter(state, exception));
            }
        }
    }
}
