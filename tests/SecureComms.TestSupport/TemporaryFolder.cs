namespace SecureComms.TestSupport;

/// <summary>A fresh folder under the system temporary folder, deleted (best effort) on dispose.</summary>
public sealed class TemporaryFolder : IDisposable
{
    public TemporaryFolder(string prefix = "securecomms-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    /// <summary>The full path of <paramref name="name"/> inside this folder (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still held open by a watcher must not fail the test that already ran.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort, as above.
        }
    }
}
