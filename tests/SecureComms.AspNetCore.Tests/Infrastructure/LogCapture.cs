using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Captures log events (id, level, rendered message) from every logger of a host.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public bool Contains(int eventId, string text) =>
        _entries.Any(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal));

    /// <summary>
    /// Waits until an event matching <paramref name="match"/> is logged (checking every 20 ms, failing after
    /// <paramref name="seconds"/>), for signals that arrive on another thread such as a configuration reload.
    /// </summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match, string what, int seconds = 20)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (_entries.FirstOrDefault(match) is { } entry)
            {
                return entry;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"not logged within {seconds} s: {what}");
            }

            await Task.Delay(20);
        }
    }

    public void Dispose()
    {
    }

    internal sealed record LogEntry(string Category, int EventId, LogLevel Level, string Message);

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, eventId.Id, logLevel, formatter(state, exception)));
    }
}
