import {
  missingSpecificVersions,
  noVersionAvailableMessage,
  parseVersionDirectory,
  selectVersions,
} from '../../server/repository/version-policy';

describe('selectVersions', () => {
  const available = [3, 1, 10, 2];

  it('serves the latest version by default', () => {
    expect(selectVersions(undefined, available)).toEqual([10]);
    expect(selectVersions({}, available)).toEqual([10]);
  });

  it('serves the highest N for latest', () => {
    expect(selectVersions({ latest: { num_versions: 2 } }, available)).toEqual([3, 10]);
    expect(selectVersions({ latest: { num_versions: 9 } }, available)).toEqual([1, 2, 3, 10]);
    // num_versions 0 (also an empty `latest {}`) selects nothing, as in Triton.
    expect(selectVersions({ latest: {} }, available)).toEqual([]);
  });

  it('serves every version for all', () => {
    expect(selectVersions({ all: {} }, available)).toEqual([1, 2, 3, 10]);
  });

  it('serves the listed versions that exist for specific', () => {
    expect(selectVersions({ specific: { versions: [10, 4, 1] } }, available)).toEqual([1, 10]);
    expect(missingSpecificVersions({ specific: { versions: [10, 4, 1, 7] } }, available)).toEqual([4, 7]);
    expect(selectVersions({ specific: {} }, available)).toEqual([]);
  });

  it('handles no versions and duplicates', () => {
    expect(selectVersions(undefined, [])).toEqual([]);
    expect(selectVersions({ all: {} }, [2, 2, 1])).toEqual([1, 2]);
    expect(noVersionAvailableMessage('m')).toBe("at least one version must be available under the version policy of model 'm'");
  });
});

describe('parseVersionDirectory', () => {
  it('accepts positive integers only', () => {
    expect(parseVersionDirectory('1')).toBe(1);
    expect(parseVersionDirectory('42')).toBe(42);
    for (const name of ['0', '01', '-1', '1a', 'config.pbtxt', '', '1.5', '99999999999999999999']) {
      expect(parseVersionDirectory(name)).toBeUndefined();
    }
  });
});
