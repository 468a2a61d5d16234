using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace SecureComms;

/// <summary>A reloadable setting SecureComms compiles; the start-up check builds every one before the host serves.</summary>
internal interface ILastGoodOptions
{
    /// <summary>The configuration section it is bound from, for logs and the reload metric.</summary>
    string Section { get; }
}

/// <summary>
/// The last good compiled form of a reloadable options type, as YARP keeps its proxy configuration: built and validated
/// once at start-up (every problem reported at once, start-up fails), then rebuilt on each configuration change. A change
/// that does not bind or validate is refused with one warning event naming the keys (1900, or the section's own) and
/// a <c>securecomms.configuration.reloads</c> count tagged <c>rejected</c>; the last good form stays in force.
/// Requests read <see cref="Current"/>, a field, and never an <see cref="IOptionsMonitor{TOptions}"/>: the monitor
/// validates on every read after a change, so a bad edit would throw on the request path.
/// </summary>
/// <typeparam name="TCompiled">What requests use: a compiled policy, or the validated options themselves.</typeparam>
internal sealed class LastGoodOptions<TCompiled> : ILastGoodOptions, IDisposable
    where TCompiled : class
{
    private readonly Func<List<string>, TCompiled?> _build;
    private readonly ConfigurationFileWatch _files;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics _metrics;
    private readonly Action<ILogger, string> _logRejected;
    private readonly Action<ILogger, TCompiled>? _logApplied;
    private readonly Lock _reloadLock = new();
    private readonly IDisposable? _subscription;
    private TCompiled _current;
    private string? _lastRejection;

    private LastGoodOptions(
        string section,
        Func<List<string>, TCompiled?> build,
        Func<IChangeToken>? changes,
        ConfigurationFileWatch files,
        ILogger logger,
        SecureCommsMetrics metrics,
        Action<ILogger, string>? logRejected,
        Action<ILogger, TCompiled>? logApplied)
    {
        Section = section;
        _build = build;
        _files = files;
        _logger = logger;
        _metrics = metrics;
        _logRejected = logRejected ?? ((log, problems) => ConfigurationLog.ReloadRejected(log, section, problems));
        _logApplied = logApplied;

        var errors = new List<string>();
        TCompiled? first = build(errors);
        if (errors.Count > 0 || first is null)
        {
            throw new OptionsValidationException(section, typeof(TCompiled), errors);
        }

        _current = first;
        if (changes is not null)
        {
            _subscription = ChangeToken.OnChange(changes, Reload);
        }
    }

    /// <inheritdoc />
    public string Section { get; }

    /// <summary>The last good compiled form: a volatile read, nothing else, so it never throws.</summary>
    public TCompiled Current => Volatile.Read(ref _current);

    /// <summary>
    /// Watches <typeparamref name="TOptions"/> (the default, unnamed instance): each change to a configuration it is
    /// bound from builds it afresh through <see cref="IOptionsFactory{TOptions}"/> — binding, code configuration and
    /// its <see cref="IValidateOptions{TOptions}"/> validators — and then <paramref name="compile"/>, which adds any
    /// further problem to its list. Any problem refuses the change.
    /// </summary>
    public static LastGoodOptions<TCompiled> Create<TOptions>(
        IServiceProvider services,
        string section,
        Func<TOptions, List<string>, TCompiled?> compile,
        Action<ILogger, string>? logRejected = null,
        Action<ILogger, TCompiled>? logApplied = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(services);
        IOptionsFactory<TOptions> factory = services.GetRequiredService<IOptionsFactory<TOptions>>();
        var sources = new List<IOptionsChangeTokenSource<TOptions>>();
        foreach (IOptionsChangeTokenSource<TOptions> source in services.GetServices<IOptionsChangeTokenSource<TOptions>>())
        {
            if (source.Name is null || source.Name == Options.DefaultName)
            {
                sources.Add(source);
            }
        }

        // One callback per change even when several sources share the configuration's reload token.
        Func<IChangeToken>? changes = sources.Count switch
        {
            0 => null,
            1 => sources[0].GetChangeToken,
            _ => () => new CompositeChangeToken([.. sources.Select(s => s.GetChangeToken())]),
        };
        return new LastGoodOptions<TCompiled>(
            section,
            errors => Build(factory, compile, errors),
            changes,
            services.GetRequiredService<ConfigurationFileWatch>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(ConfigurationLog.Category),
            services.GetRequiredService<SecureCommsMetrics>(),
            logRejected,
            logApplied);
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Binding or an application's configure delegate may throw anything; a refused change is reported, never thrown on the configuration's change thread.")]
    private static TCompiled? Build<TOptions>(IOptionsFactory<TOptions> factory, Func<TOptions, List<string>, TCompiled?> compile, List<string> errors)
        where TOptions : class
    {
        TOptions options;
        try
        {
            options = factory.Create(Options.DefaultName);
        }
        catch (OptionsValidationException ex)
        {
            errors.AddRange(ex.Failures); // each names its configuration key
            return null;
        }
        catch (Exception ex)
        {
            errors.Add(ex.Message); // a value that does not convert: the binder's message names the key
            return null;
        }

        return compile(options, errors);
    }

    private void Reload()
    {
        lock (_reloadLock)
        {
            if (_files.UnreadableFile() is { } file)
            {
                // The file's settings are out of the configuration while it cannot be parsed: what binds now is not
                // what the operator wrote. Event 1902 already named the file; keep the last good form.
                ConfigurationLog.ReloadDeferred(_logger, Section, file);
                return;
            }

            var errors = new List<string>();
            TCompiled? next = _build(errors);
            if (errors.Count > 0 || next is null)
            {
                string problems = string.Join(" ", errors);
                if (problems == _lastRejection)
                {
                    return; // the same bad edit seen again (file watchers often report one write twice): one event
                }

                _lastRejection = problems;
                _metrics.ConfigurationReload(Section, applied: false); // counted before it is logged: whoever sees the event sees the count
                _logRejected(_logger, problems);
                return;
            }

            _lastRejection = null;
            Volatile.Write(ref _current, next);
            _metrics.ConfigurationReload(Section, applied: true);
            if (_logApplied is not null)
            {
                _logApplied(_logger, next);
            }
            else
            {
                ConfigurationLog.ReloadApplied(_logger, Section);
            }
        }
    }

    public void Dispose() => _subscription?.Dispose();
}
