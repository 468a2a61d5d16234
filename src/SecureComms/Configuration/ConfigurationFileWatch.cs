using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>
/// Makes a configuration file that cannot be parsed on reload loud instead of silent. .NET's file configuration
/// providers (JSON, XML, INI) react to such a file by emptying that file's settings and throwing on the file watcher's
/// thread, where nobody sees it; no change is signalled, so the next change of any other source would bind the
/// configuration without that file. This hooks <see cref="FileConfigurationSource.OnLoadException"/> of every file source
/// of the configurations given to <c>AddSecureComms</c>: one warning (event 1902) naming the file, a
/// <c>securecomms.configuration.reloads</c> count (section <c>file</c>, result <c>rejected</c>), and until the file loads
/// again <see cref="UnreadableFile"/> names it, so that SecureComms' settings keep their last good form. The framework's
/// own handling (rethrow, or an application's handler) is unchanged.
/// </summary>
internal sealed class ConfigurationFileWatch : IDisposable
{
    internal const string FileSection = "file";

    private readonly ConcurrentDictionary<FileConfigurationProvider, Failure> _failures = new();
    private readonly List<(FileConfigurationSource Source, Action<FileLoadExceptionContext>? Previous, Action<FileLoadExceptionContext> Hook)> _hooks = [];
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics _metrics;

    public ConfigurationFileWatch(IEnumerable<IConfiguration> configurations, ILoggerFactory loggerFactory, SecureCommsMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger(ConfigurationLog.Category);
        _metrics = metrics;
        var seen = new HashSet<FileConfigurationProvider>();
        foreach (IConfiguration configuration in configurations)
        {
            foreach (FileConfigurationProvider provider in FileProviders(configuration))
            {
                if (seen.Add(provider))
                {
                    Hook(provider);
                }
            }
        }
    }

    /// <summary>
    /// A file whose last load failed and that has not loaded since, or null. A load that succeeds replaces the
    /// provider's reload token before it signals, so the failure is over once the token recorded with it is gone.
    /// </summary>
    public string? UnreadableFile()
    {
        foreach ((FileConfigurationProvider provider, Failure failure) in _failures)
        {
            if (ReferenceEquals(provider.GetReloadToken(), failure.Token))
            {
                return failure.Path;
            }

            _failures.TryRemove(new KeyValuePair<FileConfigurationProvider, Failure>(provider, failure));
        }

        return null;
    }

    private void Hook(FileConfigurationProvider provider)
    {
        FileConfigurationSource source = provider.Source;
        Action<FileLoadExceptionContext>? previous = source.OnLoadException;
        Action<FileLoadExceptionContext> hook = context =>
        {
            previous?.Invoke(context);
            LoadFailed(provider, context);
        };
        source.OnLoadException = hook;
        _hooks.Add((source, previous, hook));
    }

    private void LoadFailed(FileConfigurationProvider provider, FileLoadExceptionContext context)
    {
        string path = PathOf(provider);
        string error = Describe(context.Exception);
        IChangeToken token = provider.GetReloadToken();
        if (_failures.TryGetValue(provider, out Failure? seen) && ReferenceEquals(seen.Token, token) && seen.Error == error)
        {
            return; // the same broken file loaded again (one write often raises two file events): one warning
        }

        if (!context.Ignore)
        {
            // Rethrown: no change is signalled and the token stays until a load succeeds. (An application handler that
            // ignores the error lets the emptied settings through as a change; that is its choice.)
            _failures[provider] = new Failure(token, path, error);
        }

        _metrics.ConfigurationReload(FileSection, applied: false);
        ConfigurationLog.FileUnreadable(_logger, path, error);
    }

    private static string PathOf(FileConfigurationProvider provider)
    {
        string path = provider.Source.Path ?? "(no path)";
        return provider.Source.FileProvider?.GetFileInfo(path).PhysicalPath ?? path;
    }

    /// <summary>The innermost message: for JSON the parser's, with line and position (never the file's contents).</summary>
    private static string Describe(Exception exception)
    {
        Exception inner = exception;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return inner.Message;
    }

    private static IEnumerable<FileConfigurationProvider> FileProviders(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            yield break;
        }

        foreach (IConfigurationProvider provider in root.Providers)
        {
            if (provider is FileConfigurationProvider file)
            {
                yield return file;
            }
            else if (provider is ChainedConfigurationProvider { Configuration: { } chained })
            {
                foreach (FileConfigurationProvider inner in FileProviders(chained))
                {
                    yield return inner;
                }
            }
        }
    }

    public void Dispose()
    {
        foreach ((FileConfigurationSource source, Action<FileLoadExceptionContext>? previous, Action<FileLoadExceptionContext> hook) in _hooks)
        {
            if (source.OnLoadException == hook)
            {
                source.OnLoadException = previous;
            }
        }
    }

    private sealed record Failure(IChangeToken Token, string Path, string Error);
}
