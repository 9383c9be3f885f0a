// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MediaRegistry} from "../MediaRegistry.sol";

/// @title MediaRegistry with a settable clock (tests only; never deployed by the service)
/// @notice `setTime(t)` freezes {_time} at `t` (records, deadlines, retractions); `setTime(0)` goes back to the
/// block timestamp. Lets tests check expiry and stored times without mining blocks at chosen timestamps.
contract TestMediaRegistry is MediaRegistry {
    uint64 private _frozenTime;

    function setTime(uint64 time) external {
        _frozenTime = time;
    }

    function _time() internal view override returns (uint64) {
        return _frozenTime == 0 ? super._time() : _frozenTime;
    }
}
